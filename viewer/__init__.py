"""texinr viewer: glfw + moderngl + pyimgui."""
