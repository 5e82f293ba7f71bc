// Stands in for `webrtc-polyfill`, which WebTorrent's dependencies import for WebRTC peers.
// Chilly talks to peers over TCP and uTP only (the trackers' `wrtc` option is off), so no WebRTC
// implementation is loaded: the upstream package needs node-datachannel, whose install downloads
// sources from outside the npm registry, and a native binding would add tens of megabytes.
// simple-peer reads these as "no WebRTC here".
export const RTCPeerConnection = undefined;
export const RTCSessionDescription = undefined;
export const RTCIceCandidate = undefined;
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate };
