"""`harness view`: a read-only web viewer for runs, samples, items across models and the router."""
