import type { Session } from '../api.js'
export const ProjectionsPage = (_: { readonly session: Session }) => <p>Coming next.</p>
