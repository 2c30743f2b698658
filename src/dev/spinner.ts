/** A one-line progress indicator on stderr; silent when stderr is not a terminal (CI logs, pipes). */
export function spinner(stream: NodeJS.WriteStream = process.stderr) {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let text = "";
  let frame = 0;
  const draw = () => stream.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${text}`);
  const timer = stream.isTTY ? setInterval(draw, 80) : undefined;
  return {
    set(next: string) { text = next; },
    stop() {
      if (!timer) return;
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
