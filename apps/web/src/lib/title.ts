/** The window title names the screen only: never a person, a search term or a record. */
export function setDocumentTitle(screen: string, app: string): void {
  document.title = `${screen} | ${app}`;
}
