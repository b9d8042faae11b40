"""The ImGui side of texinr-view: a moderngl renderer for ImGui draw lists, glfw input glue, one function per panel."""
