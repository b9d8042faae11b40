// The network at one (uv01, t): the pixel inspector's neural colour, from the same code the mesh view runs.
#version 330 core
#if defined VERTEX_SHADER
void main() {  // one triangle covering the 1x1 viewport
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
#elif defined FRAGMENT_SHADER
#include "include/network.glsl"
uniform vec2 u_uv01;
uniform float u_lod_t;
out vec4 f_color;
void main() {
    f_color = vec4(neural_rgb(u_uv01, u_lod_t), 1.0);
}
#endif
