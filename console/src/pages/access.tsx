import type { Session } from '../api.js'
export const AccessPage = (_: { readonly session: Session }) => <p>Coming next.</p>
