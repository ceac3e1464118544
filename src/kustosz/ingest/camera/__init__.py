"""Camera recording: one supervised ffmpeg per camera writing MPEG-TS segments (no audio)."""
