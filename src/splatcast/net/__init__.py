"""Delivery and playback: the aiohttp server (HTTP ranges, CORS, confinement, per-connection trace shaping), the
WebRTC data channel (aiortc), the adaptive client with its ABR policies, Pensieve traces, token-bucket shaping and
the socket-free simulator. Does not own: the MPD or its mapping (splatcast.dash), decoding (splatcast.codec).
Modules are imported on use (aiortc is slow to import): ``server``, ``webrtc``, ``client``, ``abr``, ``traces``,
``shaping``, ``simulate``, ``files``.
"""
