"""Orbit camera through pyrr, framed on the mesh's bounds. Right-handed, y up, looking at the target."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from pyrr import Matrix44


@dataclass(frozen=True)
class OrbitCamera:
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    distance: float = 3.0
    yaw_deg: float = 30.0
    """Rotation about +y; 0 looks along -z."""
    pitch_deg: float = 20.0
    """Elevation above the horizon, clamped to (-89, 89)."""
    fov_y_deg: float = 40.0

    @staticmethod
    def framing(
        lo: np.ndarray,
        hi: np.ndarray,
        yaw_deg: float = 30.0,
        pitch_deg: float = 20.0,
        fov_y_deg: float = 40.0,
        aspect: float = 16 / 9,
        margin: float = 1.08,
    ) -> OrbitCamera:
        """The nearest camera (at this yaw and pitch) whose view holds all 8 corners of the box [lo, hi]."""
        centre = (np.asarray(lo, float) + np.asarray(hi, float)) / 2.0
        cam = OrbitCamera(tuple(float(c) for c in centre), 1.0, yaw_deg, pitch_deg, fov_y_deg)
        R = cam.T_view_world()[:3, :3].astype(float)  # row vectors: v_view = v_world @ R (+ translation)
        tan_y = math.tan(math.radians(fov_y_deg) / 2.0)
        tan_x = tan_y * aspect
        need = 1e-3
        for corner in np.array(np.meshgrid(*zip(lo, hi, strict=True))).T.reshape(-1, 3):
            x, y, z = (corner - centre) @ R  # view axes: x right, y up, z towards the camera
            need = max(need, z + abs(x) / tan_x, z + abs(y) / tan_y)
        return replace(cam, distance=need * margin)

    def eye(self) -> np.ndarray:
        yaw, pitch = math.radians(self.yaw_deg), math.radians(max(-89.0, min(89.0, self.pitch_deg)))
        offset = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
        return np.asarray(self.target) + self.distance * offset

    def T_view_world(self) -> np.ndarray:  # noqa: N802 - names say the spaces
        return np.asarray(
            Matrix44.look_at(self.eye(), np.asarray(self.target), np.array([0.0, 1.0, 0.0])), dtype=np.float32
        )

    def T_clip_view(self, aspect: float) -> np.ndarray:  # noqa: N802
        near = max(self.distance * 0.01, 1e-4)
        far = self.distance * 10.0
        return np.asarray(Matrix44.perspective_projection(self.fov_y_deg, aspect, near, far), dtype=np.float32)

    def T_clip_world(self, aspect: float) -> np.ndarray:  # noqa: N802
        # pyrr matrices are row-major with row vectors: v_clip = v_world @ view @ proj
        return (self.T_view_world() @ self.T_clip_view(aspect)).astype(np.float32)

    def orbit(self, d_yaw: float, d_pitch: float) -> OrbitCamera:
        return replace(self, yaw_deg=self.yaw_deg + d_yaw, pitch_deg=max(-89.0, min(89.0, self.pitch_deg + d_pitch)))

    def zoom(self, factor: float) -> OrbitCamera:
        return replace(self, distance=max(1e-3, self.distance * factor))

    def pan(self, dx_px: float, dy_px: float, viewport_h_px: int) -> OrbitCamera:
        """Move the target in the view plane so the scene follows the mouse."""
        R = self.T_view_world()[:3, :3].astype(float)
        right, up = R[:, 0], R[:, 1]
        scale = 2.0 * self.distance * math.tan(math.radians(self.fov_y_deg) / 2.0) / max(viewport_h_px, 1)
        t = np.asarray(self.target) - right * dx_px * scale + up * dy_px * scale
        return replace(self, target=tuple(float(c) for c in t))
