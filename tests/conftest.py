pytest_plugins = ["service_fixtures"]
