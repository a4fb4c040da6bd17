import type { Session } from '../api.js'
export const DlqPage = (_: { readonly session: Session }) => <p>Coming next.</p>
