// What a lean device needs: the protocol codec, plus the hub's token format to provision
// bench devices as if they had connected before (the harness plays the registration step).

export { ResumeTokens } from "@cloudedge/cloud-sdk";
export { CloseCode, decode, encode, parseRetryAfter } from "@cloudedge/protocol";
