async def run(*, quick=False): return "", []
