"""The service's routers, by area; :mod:`grader.service.app` includes them."""
