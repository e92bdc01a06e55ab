"""HTTP routes, one module per area (see gridshare.web.app.ROUTE_MODULES)."""
