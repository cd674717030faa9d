// Package deploytest checks the deployment files of the repository without
// a cluster or a container engine: the Helm chart charts/avenir (rendered
// with the Helm library, every manifest decoded strictly into the
// Kubernetes API types), the NATS cluster configuration deploy/nats (loaded
// by the NATS server itself, started as three nodes on loopback, with the
// service users' permissions exercised) and deploy/compose.yaml.
package deploytest
