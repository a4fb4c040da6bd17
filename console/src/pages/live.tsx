import type { Session } from '../api.js'
export const LivePage = (_: { readonly session: Session }) => <p>Coming next.</p>
