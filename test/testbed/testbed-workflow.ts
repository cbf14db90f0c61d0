// The smallest workflow: proves the dev server runs workflows.
export async function testbedProbe(message: string): Promise<string> {
  return Promise.resolve(`pong: ${message}`);
}
