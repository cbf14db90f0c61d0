/**
 * Whether a LoadTest's Service has the port it names, and if not, the message that lets the user fix it: every
 * port the Service has, with its name and target port, since a Service is often known by a named port ("http") or
 * by the pods' port behind it. Runners reach `<service>.<namespace>.svc:<spec.test.port>`: the Service's port.
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';

/** "8080", or "8080 (name "http", targetPort 80)" when the port has a name or a target port of its own. */
function describePort({ port, name, targetPort }: V1ServicePort): string {
  const details = [
    ...(name === undefined || name === '' ? [] : [`name ${JSON.stringify(name)}`]),
    ...(targetPort === undefined || targetPort === port
      ? []
      : [`targetPort ${typeof targetPort === 'string' ? JSON.stringify(targetPort) : targetPort}`]),
  ];
  return details.length === 0 ? `${port}` : `${port} (${details.join(', ')})`;
}

/** Why the runners could not reach `port` on the Service, or undefined when it has that port (or names none). */
export function missingServicePort(
  service: V1Service,
  name: string,
  namespace: string,
  port: number,
): string | undefined {
  const ports = service.spec?.ports ?? [];
  if (ports.length === 0 || ports.some((candidate) => candidate.port === port)) return undefined;
  let reason =
    `Service "${name}" in namespace "${namespace}" has no port ${port} (it has ${ports.map(describePort).join(', ')}): ` +
    'set spec.test.port (default 80) to one of its ports';
  const behind = ports.find((candidate) => candidate.targetPort === port);
  if (behind !== undefined) reason += `; ${port} is the pods' port behind its port ${behind.port}`;
  return reason;
}
