"""The site's Vega-Lite charts from aggregated rows: shared spec helpers, one module per kind."""
