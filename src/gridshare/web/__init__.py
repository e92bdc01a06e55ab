"""The web app: FastAPI factory, routes, templates and static files."""
