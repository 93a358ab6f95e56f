"""Pure algorithms that learn from metric history: anomaly scores and exhaustion forecasts."""
