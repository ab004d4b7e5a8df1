raise RuntimeError("this schema module is broken on purpose")
