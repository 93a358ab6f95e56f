"""Reports computed from the registry: each module has build(ctx) -> dict and render(data) -> str."""
