"""The floor: the least a Django request on this stack can cost, to measure the portal against.

One view reads with one SELECT and renders a tiny template, one view writes with one INSERT. It
runs under the same gunicorn settings and on the same PostgreSQL as the portal (bench/load.py).
"""
