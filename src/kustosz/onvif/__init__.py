"""ONVIF cameras (issue 34): what a camera says of itself over ONVIF — its make, model, serial
and firmware, its media profiles with their stream addresses, its own clock — read through
`onveef`. No database here: the register (kustosz.cameras) and the recorders (kustosz.ingest)
decide what to keep of it."""
