"""Stress and soak: `hftlab soak`."""
