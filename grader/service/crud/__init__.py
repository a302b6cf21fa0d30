"""Data access of the service, one module per resource: the routes call these, in the
transaction they open, and never write SQL of their own."""
