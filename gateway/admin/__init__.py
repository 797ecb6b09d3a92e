"""Admin HTTP endpoints (role ``admin``): bulk import and export of the link map
(:func:`gateway.admin.links.admin_links_router`)."""

from gateway.admin.links import admin_links_router

__all__ = ["admin_links_router"]
