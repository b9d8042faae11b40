// The network over a full-screen grid of pixel centres: pixel (row r from the top, column c) of a W x H target
// gets uv01 = ((c + 0.5) / W, 1 - (r + 0.5) / H). Used by the parity tests and GPU decoding. With PROBE defined,
// one pixel at the uniform u_uv01 instead: the window's pixel inspector. One pass writes four output channels.
#version 330 core
#if defined VERTEX_SHADER
void main() {  // one triangle covering the viewport
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
#elif defined FRAGMENT_SHADER
#include "include/network.glsl"
uniform vec2 u_size_px;
uniform vec2 u_uv01;
uniform float u_lod_t;
uniform int u_out4;  // which four output channels this pass writes (0: the first, rgb + the 4th or 0)
out vec4 f_color;
void main() {
#if defined(PROBE)
    neural_eval(u_uv01, u_lod_t);
    f_color = g_out[u_out4];
    return;
#endif
    // gl_FragCoord counts rows from the bottom; the framebuffer is read back bottom-up and flipped, so the
    // top image row r has gl_FragCoord.y = H - r - 0.5 and v = (H - r - 0.5) / H = 1 - (r + 0.5) / H.
    vec2 uv01 = gl_FragCoord.xy / u_size_px;
    neural_eval(uv01, u_lod_t);
    f_color = g_out[u_out4];
}
#endif
