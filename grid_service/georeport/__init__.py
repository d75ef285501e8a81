"""Open311 GeoReport v2: the façade through which existing civic-reporting apps use the service."""
