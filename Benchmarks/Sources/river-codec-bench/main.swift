print("river-codec-bench: not built yet")
