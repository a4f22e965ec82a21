"""Genetic programming of zero-cost proxies: ops, programs, fitness, evolution, export."""
