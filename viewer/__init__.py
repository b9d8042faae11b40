"""texinr viewer: glfw + moderngl + pyimgui (the render core and window arrive with issues 3 and 4)."""
