// A textured mesh seen through one of the views: neural / reference / ASTC / split / difference / LOD colours.
// Reference and ASTC are plain RGBA8 textures with mipmaps (trilinear, REPEAT); the neural texture is the network
// itself, evaluated here for every pixel. All three share this vertex path and shading.
#version 330 core
#pragma texinr require(HAS_NETWORK)

#if defined VERTEX_SHADER
uniform mat4 u_T_clip_world;
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
uniform int u_view;          // 0 neural, 1 reference, 2 astc, 3 split, 4 difference, 5 LOD false colour
uniform int u_left;          // source for split (left) and difference (a): 0 neural, 1 reference, 2 astc
uniform int u_right;         // source for split (right) and difference (b)
uniform float u_divider_px;  // split position in framebuffer pixels from the left
uniform float u_diff_gain;
uniform int u_diff_heat;     // 1: heat map of the mean absolute difference; 0: |a - b| * gain per channel
uniform int u_fixed_level;   // < 0: automatic level of detail; otherwise this mip level
uniform int u_levels;        // mip levels L of the model (and of the textures' chains shown)
uniform vec2 u_texture_px;   // size of the base level, texels
uniform int u_lit;
uniform vec3 u_light_dir_world;
in vec3 v_normal_world;
in vec2 v_uv;
out vec4 f_color;

float g_lambda;  // the mip level of this pixel, in [0, L - 1]
vec2 g_duv_dx, g_duv_dy;  // taken in uniform control flow; sampling in branches uses them explicitly

vec3 source(int which) {
    if (which == 1) return u_fixed_level < 0 ? textureGrad(t_reference, v_uv, g_duv_dx, g_duv_dy).rgb
                                             : textureLod(t_reference, v_uv, g_lambda).rgb;
    if (which == 2) return u_fixed_level < 0 ? textureGrad(t_astc, v_uv, g_duv_dx, g_duv_dy).rgb
                                             : textureLod(t_astc, v_uv, g_lambda).rgb;
#if HAS_NETWORK
    float t = u_levels > 1 ? g_lambda / float(u_levels - 1) : 0.0;
    return neural_rgb(v_uv, t);
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
    // hardware mip selection: lambda = log2 of the larger screen-space texel footprint (ARCHITECTURE.md)
    g_duv_dx = dFdx(v_uv);
    g_duv_dy = dFdy(v_uv);
    float footprint = max(length(g_duv_dx * u_texture_px), length(g_duv_dy * u_texture_px));
    float auto_lambda = clamp(log2(max(footprint, 1e-8)), 0.0, float(max(u_levels - 1, 0)));
    g_lambda = u_fixed_level < 0 ? auto_lambda : clamp(float(u_fixed_level), 0.0, float(max(u_levels - 1, 0)));
    vec3 rgb;
    if (u_view <= 2) {
        rgb = source(u_view);
    } else if (u_view == 3) {
        rgb = source(gl_FragCoord.x < u_divider_px ? u_left : u_right);
    } else if (u_view == 4) {
        vec3 d = abs(source(u_left) - source(u_right));
        rgb = u_diff_heat != 0 ? heat((d.r + d.g + d.b) / 3.0 * u_diff_gain) : min(d * u_diff_gain, vec3(1.0));
    } else {
        rgb = level_colour(g_lambda);
    }
    if (u_lit != 0 && u_view != 4 && u_view != 5) {
        float ndl = max(dot(normalize(v_normal_world), normalize(u_light_dir_world)), 0.0);
        rgb *= 0.3 + 0.7 * ndl;
    }
    f_color = vec4(rgb, 1.0);
}
#endif
