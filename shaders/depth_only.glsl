// Depth pre-pass: lays down the nearest surface so the expensive shading pass runs once per pixel.
#version 330 core
#if defined VERTEX_SHADER
uniform mat4 u_T_clip_world;
invariant gl_Position;  // bit-identical to mesh.glsl's
in vec3 in_position;
void main() {
    gl_Position = u_T_clip_world * vec4(in_position, 1.0);
}
#elif defined FRAGMENT_SHADER
void main() {
}
#endif
