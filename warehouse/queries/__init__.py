"""The query API: every query the product runs (dashboards, reports, API, notebooks, benchmarks), by subject,
as functions of a scoped Warehouse. Its public names are exported by the `warehouse` package."""
