print("river: not built yet")
