// Re-exports the WebRTC classes that WebTorrent's dependencies import from `webrtc-polyfill`.
// The upstream package depends on node-datachannel, whose install step downloads sources from
// outside the npm registry and fails on machines that only reach the registry.
import wrtc from '@roamhq/wrtc';

export const RTCPeerConnection = wrtc.RTCPeerConnection;
export const RTCSessionDescription = wrtc.RTCSessionDescription;
export const RTCIceCandidate = wrtc.RTCIceCandidate;
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate };
