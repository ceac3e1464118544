"""Tables of the camera register and recorder (issue: camera recording). Empty for now."""
