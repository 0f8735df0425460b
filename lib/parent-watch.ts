// Ends this process when the process that started it is gone. Tests and
// `roost dev` start sidecars, controllers and gateways as children; if the
// parent is killed outright no cleanup runs there, so each child must notice
// by itself. Enabled by ROOST_EXIT_WITH_PARENT=1.
export function exitWithParent(onParentGone: () => void): void {
  if (process.env.ROOST_EXIT_WITH_PARENT !== '1') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onParentGone();
    }
  }, 500);
  timer.unref();
}
