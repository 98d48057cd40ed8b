/**
 * A deploy as a DeployCard (src/chat/rich.ts): the start message's facts as fields, the progress, the outcome,
 * and the buttons View log / Cancel / Rollback, each a command anyone could type. Built from the same words as
 * the plain-text messages (src/format.ts), so the card and the text never disagree.
 *
 *   const card = deployCard(deploy, { ...info, url }, { provider: 'slack', mention: '<@U1>' });
 */
import { type ChatAction, type DeployCard, type Progress, progressBar } from '../chat/rich.js';
import { type DeployStartInfo, type DeployView, deployStarted, deployTitle, shortSha } from '../format.js';

export interface CardState {
  provider: string;
  /** How the requester is named on the card (a mention where the network has them). */
  requester: string;
  progress: Progress | null;
  /** Set once the deploy ended: '✅ succeeded in 42s — <@U1>'. */
  outcome?: string | null | undefined;
}

export function deployCard(d: DeployView, info: DeployStartInfo, state: CardState): DeployCard {
  const ended = Boolean(state.outcome);
  const verb = d.kind === 'rollback' ? 'rolling back' : 'deploying';
  const title = ended ? `#${d.id} ${deployTitle(d)}` : `🚀 #${d.id} ${verb} ${deployTitle(d)}`;
  const start = deployStarted(d, info, state.provider).split('\n');
  // The first line and the environment URL are fields on the card; the rest (what ships, notes) stays as lines.
  const details = start.slice(1).filter((l) => !(info.environmentUrl && l === `${d.environment}: ${info.environmentUrl}`));
  const ref = d.ref === d.sha || d.sha.startsWith(d.ref) ? shortSha(d.sha) : `${d.ref} (${shortSha(d.sha)})`;
  const fields = [
    { label: 'App', value: d.app },
    { label: 'Ref', value: ref },
    { label: 'Environment', value: d.environment },
    { label: 'Hosts', value: String(info.hostCount) },
    { label: 'Requested by', value: state.requester },
  ];
  if (info.environmentUrl) fields.push({ label: 'URL', value: info.environmentUrl });
  const actions: ChatAction[] = [{ kind: 'link', label: 'View log', url: info.url }];
  if (!ended) actions.push({ kind: 'command', label: 'Cancel', command: `cancel ${d.id}`, style: 'danger' });
  if (d.kind !== 'rollback') actions.push({ kind: 'command', label: 'Rollback', command: `rollback ${d.app} in ${d.environment}` });
  const text = [...start, ...(state.progress ? [progressBar(state.progress)] : []), ...(state.outcome ? [state.outcome] : [])].join('\n');
  return { deployId: d.id, title, fields, details, progress: state.progress, outcome: state.outcome ?? null, actions, text };
}
