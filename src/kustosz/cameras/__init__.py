"""The camera register (sites, zones, cameras) and the rules of Kodeks pracy art. 22²."""
