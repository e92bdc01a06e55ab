"""The meter's small HTML status page, like the papers' IoT dashboard."""


def _esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fixed(value, scale, digits):
    sign = "-" if value < 0 else ""
    value = abs(value)
    frac = str(value % scale)
    while len(frac) < len(str(scale)) - 1:
        frac = "0" + frac
    return sign + str(value // scale) + "." + frac[:digits]


def _row(label, value):
    return "<tr><th>" + label + "</th><td>" + _esc(value) + "</td></tr>"


def _delivery(d):
    pct = 0
    if d["target_wh"]:
        pct = min(100, d["delivered_mwh"] // (d["target_wh"] * 10))
    return (
        "<tr><td>#" + str(d["id"]) + "</td><td>" + d["role"] + "</td><td>"
        + _fixed(d["delivered_mwh"], 1000, 3) + " / " + str(d["target_wh"]) + " Wh</td><td>"
        + d["state"] + "</td><td><progress max='100' value='" + str(pct)
        + "'></progress></td></tr>"
    )


def render(name, s):
    """HTML for a status dict (Meter.status_dict); refreshes itself every 2 s."""
    rows = [
        _row("Voltage", _fixed(s["v_mv"], 1000, 2) + " V"),
        _row("Current", _fixed(s["i_ma"], 1000, 3) + " A"),
        _row("Power", _fixed(s["p_mw"], 1000, 1) + " W"),
        _row("Imported", _fixed(s["import_mwh"], 1000, 3) + " Wh"),
        _row("Exported", _fixed(s["export_mwh"], 1000, 3) + " Wh"),
        _row("Relay", "CLOSED (energy flowing)" if s["relay"] else "open"),
        _row("Sensor", s["fault"] or "ok"),
        _row("Server link", "silent (fail-safe)" if s["silent"] else "ok"),
    ]
    deliveries = []
    if s["active"]:
        deliveries.append(_delivery(s["active"]))
    for d in s["queued"]:
        deliveries.append(_delivery(d))
    if not deliveries:
        deliveries.append("<tr><td colspan='5'>no deliveries</td></tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta http-equiv='refresh' content='2'><title>" + _esc(name) + "</title>"
        "<style>body{font-family:sans-serif;margin:1em;background:#f4f7f4}"
        "table{border-collapse:collapse;margin-bottom:1em}th,td{padding:.3em .8em;"
        "border-bottom:1px solid #ccc;text-align:left}h1{font-size:1.3em}</style></head>"
        "<body><h1>gridshare meter: " + _esc(name) + "</h1><table>" + "".join(rows) + "</table>"
        "<h2>Deliveries</h2><table><tr><th>id</th><th>role</th><th>energy</th><th>state</th>"
        "<th>progress</th></tr>" + "".join(deliveries) + "</table></body></html>"
    )
