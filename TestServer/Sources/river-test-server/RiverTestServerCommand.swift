print("river-test-server: not built yet")
