// Runs a MicroPython-compatible test module under real MicroPython (WebAssembly port).
// Usage: node run_micropython.mjs <repo root> <test module .py>
// Copies firmware/gridshare_meter/*.py into MicroPython's /lib, the test module into /tests,
// imports it and calls its run(module); prints PASS/FAIL lines and a RESULT line.
import fs from "node:fs";
import path from "node:path";

const [root, testFile] = process.argv.slice(2);
const { loadMicroPython } = await import(
  path.join(root, "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs")
);
const mp = await loadMicroPython({
  heapsize: 8 * 1024 * 1024,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});

function copyDir(src, dest) {
  mp.FS.mkdirTree(dest);
  for (const name of fs.readdirSync(src)) {
    if (name.endsWith(".py")) {
      mp.FS.writeFile(`${dest}/${name}`, fs.readFileSync(path.join(src, name)));
    }
  }
}

copyDir(path.join(root, "firmware/gridshare_meter"), "/lib/gridshare_meter");
mp.FS.mkdirTree("/tests");
const moduleName = path.basename(testFile, ".py");
mp.FS.writeFile(`/tests/${moduleName}.py`, fs.readFileSync(testFile));

try {
  mp.runPython(`
import sys
sys.path.insert(0, "/tests")
sys.path.insert(0, "/lib")
import ${moduleName}
${moduleName}.run(${moduleName})
`);
} catch (error) {
  console.log(`RESULT crashed: ${error.message}`);
  process.exit(2);
}
