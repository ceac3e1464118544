"""Holds, requests, copies, handover, destruction and the registers."""
