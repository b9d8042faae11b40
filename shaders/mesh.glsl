// A textured mesh seen through one of the views: neural / reference / ASTC / split / difference / LOD colours.
// Reference and ASTC are plain RGBA8 textures with mipmaps (trilinear, REPEAT); the neural texture is the network
// itself, evaluated here for every pixel. All three share this vertex path and shading.
//
// The view is compiled in (VIEW, SRC_A, SRC_B, AUTO_LOD, DIFF_HEAT, LIT): llvmpipe executes both sides of a
// branch under a mask, so a run-time switch would make every pixel pay for every view. Programs are cached.
// VIEW: 0 one source (SRC_A), 1 split (SRC_A left of the divider, SRC_B right), 2 difference |A - B|, 3 LOD colours,
// 4 the pixel inspector's probe: (wrapped uv01, mip level lambda, 1) into a float target.
// SRC_*: 0 neural, 1 reference, 2 ASTC.
#version 330 core
#pragma texinr require(HAS_NETWORK, VIEW, SRC_A, SRC_B, AUTO_LOD, DIFF_HEAT, LIT)

#if defined VERTEX_SHADER
uniform mat4 u_T_clip_world;
invariant gl_Position;  // bit-identical to the depth pre-pass (depth_only.glsl), so its depth test passes
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_normal_world;
out vec2 v_uv;  // as authored: not wrapped, so its screen derivatives stay smooth across repeats
void main() {
    v_normal_world = in_normal;
    v_uv = in_uv;
    gl_Position = u_T_clip_world * vec4(in_position, 1.0);
}

#elif defined FRAGMENT_SHADER
#if HAS_NETWORK
#include "include/network.glsl"
#endif
uniform sampler2D t_reference;
uniform sampler2D t_astc;
uniform float u_divider_px;  // split position in framebuffer pixels from the left
uniform float u_diff_gain;
uniform int u_fixed_level;   // the mip level shown when AUTO_LOD is 0
uniform int u_levels;        // mip levels L of the model (and of the textures' chains shown)
uniform vec2 u_texture_px;   // size of the base level, texels
uniform vec3 u_light_dir_world;
in vec3 v_normal_world;
in vec2 v_uv;
out vec4 f_color;

float g_lambda;  // the mip level of this pixel, in [0, L - 1]
vec2 g_duv_dx, g_duv_dy;  // taken in uniform control flow; sampling in branches uses them explicitly

vec3 sample_image(sampler2D image) {
#if AUTO_LOD
    return textureGrad(image, v_uv, g_duv_dx, g_duv_dy).rgb;
#else
    return textureLod(image, v_uv, g_lambda).rgb;
#endif
}

vec3 source(int which) {
    if (which == 1) return sample_image(t_reference);
    if (which == 2) return sample_image(t_astc);
#if HAS_NETWORK
    return neural_rgb(v_uv, u_levels > 1 ? g_lambda / float(u_levels - 1) : 0.0);
#else
    return vec3(1.0, 0.0, 1.0);  // no model loaded
#endif
}

vec3 heat(float x) {  // black -> purple -> orange -> yellow (magma-like), x in [0, 1]
    x = clamp(x, 0.0, 1.0);
    return clamp(vec3(1.5 * x + 0.05, x * x * 1.2, 0.45 * sin(3.14159 * x) + 0.1 * x), 0.0, 1.0);
}

vec3 level_colour(float lambda) {
    const vec3 c[6] = vec3[](vec3(0.9, 0.1, 0.1), vec3(0.95, 0.6, 0.1), vec3(0.9, 0.9, 0.1),
                             vec3(0.2, 0.8, 0.2), vec3(0.1, 0.6, 0.95), vec3(0.6, 0.2, 0.9));
    int i = int(floor(lambda));
    return mix(c[i % 6], c[(i + 1) % 6], fract(lambda));
}

void main() {
    // hardware mip selection: lambda = log2 of the larger screen-space texel footprint (docs/ARCHITECTURE.md)
    g_duv_dx = dFdx(v_uv);
    g_duv_dy = dFdy(v_uv);
    float footprint = max(length(g_duv_dx * u_texture_px), length(g_duv_dy * u_texture_px));
    float top = float(max(u_levels - 1, 0));
#if AUTO_LOD
    g_lambda = clamp(log2(max(footprint, 1e-8)), 0.0, top);
#else
    g_lambda = clamp(float(u_fixed_level), 0.0, top);
#endif
#if VIEW == 0
    vec3 rgb = source(SRC_A);
#elif VIEW == 1
    vec3 rgb = gl_FragCoord.x < u_divider_px ? source(SRC_A) : source(SRC_B);
#elif VIEW == 2
    vec3 d = abs(source(SRC_A) - source(SRC_B));
#if DIFF_HEAT
    vec3 rgb = heat((d.r + d.g + d.b) / 3.0 * u_diff_gain);
#else
    vec3 rgb = min(d * u_diff_gain, vec3(1.0));
#endif
#elif VIEW == 3
    vec3 rgb = level_colour(g_lambda);
#else
    vec3 rgb = vec3(fract(v_uv), g_lambda);
#endif
#if LIT && VIEW <= 1
    float ndl = max(dot(normalize(v_normal_world), normalize(u_light_dir_world)), 0.0);
    rgb *= 0.3 + 0.7 * ndl;
#endif
#if VIEW == 1
    if (abs(gl_FragCoord.x - u_divider_px) < 1.0) rgb = vec3(0.95);  // the divider, two pixels wide
#endif
    f_color = vec4(rgb, 1.0);
}
#endif
