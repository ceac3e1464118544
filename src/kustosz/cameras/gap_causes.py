"""Why a camera's recording has a gap (przerwa), in Polish: the cause codes the recorder
writes to its gap rows and status, as the dashboard, the timeline and the alerts word them."""

from __future__ import annotations

CAUSES_PL = {
    "auth_failed": "kamera odrzuciła login lub hasło (401)",
    "unreachable": "kamera nieosiągalna w sieci",
    "not_found": "kamera nie udostępnia strumienia pod tym adresem (404)",
    "no_video": "strumień nie zawiera obrazu",
    "stream_ended": "kamera przerwała transmisję",
    "recorder_crashed": "awaria procesu nagrywającego",
    "recorder_not_running": "rejestrator nie działał",
    "stream_stall": "przerwa w strumieniu z kamery",
    "clock_jump": "skokowa zmiana czasu zegara serwera",
    "ffmpeg_failed": "błąd procesu nagrywającego",
    "disk_full": "dysk pełny",
}
