print("river-bench: not built yet")
